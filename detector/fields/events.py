"""Facts from libsinsp's event table (``driver/event_table.c``) and syscall list (``PPM_SC_FIELDS``).

Only what conditions need: the names ``evt.type`` can take, and the type of
each event parameter name (``evt.rawarg.<name>`` takes the type of the first
event in the table that has a parameter of that name, as libsinsp's
``find_longest_matching_evt_param`` does).
"""

from __future__ import annotations

from detector.fields.types import FieldType

# Names of the event table's entries, in table order, without the unused "NA" slots.
EVENT_NAMES: frozenset[str] = frozenset(
    """
    syscall open close read write brk execve clone procexit socket bind connect listen accept
    send sendto recv recvfrom shutdown getsockname getpeername socketpair setsockopt getsockopt
    sendmsg sendmmsg recvmsg recvmmsg creat pipe eventfd futex stat lstat fstat stat64 lstat64
    fstat64 epoll_wait poll select lseek llseek ioctl getcwd chdir fchdir mkdir rmdir openat link
    linkat unlink unlinkat pread pwrite readv writev preadv pwritev dup signalfd kill tkill tgkill
    nanosleep timerfd_create inotify_init getrlimit setrlimit prlimit switch drop fcntl mmap mmap2
    munmap splice ptrace rename renameat symlink symlinkat fork vfork sendfile quotactl setresuid
    setresgid scapevent setuid setgid getuid geteuid getgid getegid getresuid getresgid container
    signaldeliver procinfo getdents getdents64 setns flock cpu_hotplug semop semctl ppoll mount
    umount k8s semget access chroot tracer mesos setsid notification unshare infra page_fault
    setpgid bpf seccomp mkdirat fchmodat chmod fchmod renameat2 userfaultfd pluginevent openat2
    mprotect execveat copy_file_range clone3 open_by_handle_at io_uring_setup io_uring_enter
    io_uring_register mlock munlock mlockall munlockall capset useradded userdeleted groupadded
    groupdeleted dup2 dup3 mlock2 fsconfig epoll_create epoll_create1 chown lchown fchown fchownat
    accept4 umount2 pipe2 inotify_init1 eventfd2 signalfd4 prctl asyncevent memfd_create
    pidfd_getfd pidfd_open init_module finit_module mknod mknodat newfstatat
    """.split()
)

# Lower-cased PPM_SC names: what evt.type reports for syscalls without a dedicated event.
SYSCALL_NAMES: frozenset[str] = frozenset(
    """
    restart_syscall exit read write open close creat link unlink chdir time mknod chmod stat lseek
    getpid mount ptrace alarm fstat pause utime access sync kill rename mkdir rmdir dup pipe times
    brk acct ioctl fcntl setpgid umask chroot ustat dup2 getppid getpgrp setsid sethostname
    setrlimit getrusage gettimeofday settimeofday symlink lstat readlink uselib swapon reboot mmap
    munmap truncate ftruncate fchmod getpriority setpriority statfs fstatfs syslog setitimer
    getitimer uname vhangup wait4 swapoff sysinfo fsync setdomainname adjtimex mprotect
    init_module delete_module quotactl getpgid fchdir sysfs personality getdents select flock
    msync readv writev getsid fdatasync mlock munlock mlockall munlockall sched_setparam
    sched_getparam sched_setscheduler sched_getscheduler sched_yield sched_get_priority_max
    sched_get_priority_min sched_rr_get_interval nanosleep mremap poll prctl rt_sigaction
    rt_sigprocmask rt_sigpending rt_sigtimedwait rt_sigqueueinfo rt_sigsuspend getcwd capget
    capset sendfile getrlimit lchown getuid getgid geteuid getegid setreuid setregid getgroups
    setgroups fchown setresuid getresuid setresgid getresgid chown setuid setgid setfsuid setfsgid
    pivot_root mincore madvise gettid setxattr lsetxattr fsetxattr getxattr lgetxattr fgetxattr
    listxattr llistxattr flistxattr removexattr lremovexattr fremovexattr tkill futex
    sched_setaffinity sched_getaffinity set_thread_area get_thread_area io_setup io_destroy
    io_getevents io_submit io_cancel exit_group epoll_create epoll_ctl epoll_wait remap_file_pages
    set_tid_address timer_create timer_settime timer_gettime timer_getoverrun timer_delete
    clock_settime clock_gettime clock_getres clock_nanosleep tgkill utimes mq_open mq_unlink
    mq_timedsend mq_timedreceive mq_notify mq_getsetattr kexec_load waitid add_key request_key
    keyctl ioprio_set ioprio_get inotify_init inotify_add_watch inotify_rm_watch openat mkdirat
    mknodat fchownat futimesat unlinkat renameat linkat symlinkat readlinkat fchmodat faccessat
    pselect6 ppoll unshare set_robust_list get_robust_list splice tee vmsplice getcpu epoll_pwait
    utimensat signalfd timerfd_create eventfd timerfd_settime timerfd_gettime signalfd4 eventfd2
    epoll_create1 dup3 pipe2 inotify_init1 preadv pwritev rt_tgsigqueueinfo perf_event_open
    fanotify_init prlimit64 clock_adjtime syncfs setns getdents64 socket bind connect listen
    accept getsockname getpeername socketpair sendto recvfrom shutdown setsockopt getsockopt
    sendmsg sendmmsg recvmsg recvmmsg accept4 semop semget semctl msgsnd msgrcv msgget msgctl
    shmdt shmget shmctl statfs64 fstatfs64 fstatat64 sendfile64 ugetrlimit bdflush sigprocmask ipc
    socketcall stat64 lstat64 fstat64 fcntl64 mmap2 _newselect sgetmask ssetmask sigpending
    olduname umount signal nice stime _llseek waitpid pread64 pwrite64 arch_prctl shmat
    rt_sigreturn fallocate newfstatat process_vm_readv process_vm_writev fork vfork setuid32
    getuid32 setgid32 geteuid32 getgid32 setresuid32 setresgid32 getresuid32 getresgid32
    finit_module bpf seccomp sigaltstack getrandom fadvise64 renameat2 userfaultfd openat2 umount2
    execve execveat copy_file_range clone clone3 open_by_handle_at io_uring_setup io_uring_enter
    io_uring_register mlock2 getegid32 fsconfig fspick fsmount fsopen open_tree move_mount
    mount_setattr memfd_create memfd_secret ioperm kexec_file_load pidfd_getfd pidfd_open
    pidfd_send_signal pkey_alloc pkey_mprotect pkey_free landlock_create_ruleset quotactl_fd
    landlock_restrict_self landlock_add_rule epoll_pwait2 migrate_pages move_pages preadv2
    pwritev2 kcmp sched_setattr mbind epoll_ctl_old lookup_dcookie modify_ldt statx set_mempolicy
    io_pgetevents set_mempolicy_home_node semtimedop get_kernel_syms readahead futex_waitv getpmsg
    name_to_handle_at process_mrelease nfsservctl epoll_wait_old rseq create_module sched_getattr
    faccessat2 _sysctl query_module get_mempolicy sync_file_range process_madvise membarrier iopl
    close_range fanotify_mark recv send sched_process_exit sched_switch page_fault_user
    page_fault_kernel signal_deliver
    """.split()
)

# Every name evt.type can be compared with (and the universe of event-type sets).
EVENT_TYPE_NAMES: frozenset[str] = EVENT_NAMES | SYSCALL_NAMES

_T = FieldType

# Parameter name -> type of its first occurrence in the event table.
PARAM_TYPES: dict[str, FieldType] = {
    "ID": _T.SYSCALLID, "nativeID": _T.UINT16, "name": _T.FSPATH, "flags": _T.FLAGS32,
    "mode": _T.UINT32, "fd": _T.FD, "dev": _T.UINT32, "ino": _T.UINT64, "res": _T.ERRNO,
    "size": _T.UINT32, "data": _T.BYTEBUF, "exe": _T.CHARBUF, "args": _T.BYTEBUF, "tid": _T.PID,
    "pid": _T.PID, "ptid": _T.PID, "cwd": _T.CHARBUF, "fdlimit": _T.UINT64, "uid": _T.UINT32,
    "gid": _T.UINT32, "domain": _T.ENUMFLAGS32, "type": _T.UINT32, "proto": _T.UINT32,
    "addr": _T.SOCKADDR, "tuple": _T.SOCKTUPLE, "backlog": _T.INT32, "queuepct": _T.UINT8,
    "how": _T.ENUMFLAGS8, "fd1": _T.FD, "fd2": _T.FD, "source": _T.UINT64, "peer": _T.UINT64,
    "level": _T.ENUMFLAGS8, "optname": _T.ENUMFLAGS8, "val": _T.DYN, "optlen": _T.UINT32,
    "msgcontrol": _T.BYTEBUF, "initval": _T.UINT64, "op": _T.ENUMFLAGS16, "path": _T.FSPATH,
    "maxevents": _T.ERRNO, "fds": _T.FDLIST, "timeout": _T.INT64, "offset": _T.UINT64,
    "whence": _T.ENUMFLAGS8, "request": _T.UINT64, "dirfd": _T.FD, "oldpath": _T.FSPATH,
    "newpath": _T.FSPATH, "olddir": _T.FD, "newdir": _T.FD, "pos": _T.UINT64, "mask": _T.UINT32,
    "sig": _T.SIGTYPE, "interval": _T.RELTIME, "clockid": _T.UINT8, "resource": _T.ENUMFLAGS8,
    "cur": _T.INT64, "max": _T.INT64, "newcur": _T.INT64, "newmax": _T.INT64, "oldcur": _T.INT64,
    "oldmax": _T.INT64, "next": _T.PID, "ratio": _T.UINT32, "cmd": _T.ENUMFLAGS8,
    "pgft_maj": _T.UINT64, "pgft_min": _T.UINT64, "vm_size": _T.UINT32, "vm_rss": _T.UINT32,
    "vm_swap": _T.UINT32, "length": _T.UINT64, "prot": _T.FLAGS32, "pgoffset": _T.UINT64,
    "fd_in": _T.FD, "fd_out": _T.FD, "argument": _T.UINT64, "env": _T.BYTEBUF,
    "olddirfd": _T.FD, "newdirfd": _T.FD, "target": _T.CHARBUF, "linkpath": _T.FSPATH,
    "linkdirfd": _T.FD, "status": _T.ERRNO, "ret": _T.ERRNO, "core": _T.UINT8,
    "reaper_tid": _T.PID, "out_fd": _T.FD, "in_fd": _T.FD, "id": _T.UINT32,
    "quota_fmt": _T.FLAGS8, "special": _T.CHARBUF, "quotafilepath": _T.CHARBUF,
    "dqb_bhardlimit": _T.UINT64, "dqb_bsoftlimit": _T.UINT64, "dqb_curspace": _T.UINT64,
    "dqb_ihardlimit": _T.UINT64, "dqb_isoftlimit": _T.UINT64, "dqb_btime": _T.RELTIME,
    "dqb_itime": _T.RELTIME, "dqi_bgrace": _T.RELTIME, "dqi_igrace": _T.RELTIME,
    "dqi_flags": _T.FLAGS8, "quota_fmt_out": _T.FLAGS8, "ruid": _T.UID, "euid": _T.UID,
    "suid": _T.UID, "rgid": _T.GID, "egid": _T.GID, "sgid": _T.GID, "event_type": _T.UINT32,
    "event_data": _T.UINT64, "comm": _T.CHARBUF, "cgroups": _T.BYTEBUF, "vtid": _T.PID,
    "vpid": _T.PID, "pidns_init_start_ts": _T.UINT64, "image": _T.CHARBUF, "spid": _T.PID,
    "dpid": _T.PID, "cpu_usr": _T.UINT64, "cpu_sys": _T.UINT64, "nstype": _T.FLAGS32,
    "operation": _T.FLAGS32, "cpu": _T.UINT32, "action": _T.UINT32, "queuelen": _T.UINT32,
    "queuemax": _T.UINT32, "semid": _T.INT32, "nsops": _T.UINT32, "sem_num_0": _T.UINT16,
    "sem_op_0": _T.INT16, "sem_flg_0": _T.FLAGS16, "sem_num_1": _T.UINT16, "sem_op_1": _T.INT16,
    "sem_flg_1": _T.FLAGS16, "semnum": _T.INT32, "sigmask": _T.SIGSET, "dir": _T.FSPATH,
    "json": _T.CHARBUF, "key": _T.INT32, "nsems": _T.INT32, "semflg": _T.FLAGS32,
    "tags": _T.CHARBUFARRAY, "desc": _T.CHARBUF, "tty": _T.INT32, "description": _T.CHARBUF,
    "scope": _T.CHARBUF, "filename": _T.FSPATH, "ip": _T.UINT64, "error": _T.FLAGS32,
    "pgid": _T.PID, "loginuid": _T.UID, "cap_inheritable": _T.UINT64,
    "cap_permitted": _T.UINT64, "cap_effective": _T.UINT64, "exe_ino": _T.UINT64,
    "exe_ino_ctime": _T.ABSTIME, "exe_ino_mtime": _T.ABSTIME, "trusted_exepath": _T.FSPATH,
    "res_or_fd": _T.DYN, "plugin_id": _T.UINT32, "resolve": _T.FLAGS32,
    "pathname": _T.FSRELPATH, "fdin": _T.FD, "offin": _T.UINT64, "len": _T.UINT64,
    "fdout": _T.FD, "offout": _T.UINT64, "mountfd": _T.FD, "entries": _T.UINT32,
    "sq_entries": _T.UINT32, "cq_entries": _T.UINT32, "sq_thread_cpu": _T.UINT32,
    "sq_thread_idle": _T.UINT32, "features": _T.FLAGS32, "to_submit": _T.UINT32,
    "min_complete": _T.UINT32, "opcode": _T.ENUMFLAGS16, "arg": _T.UINT64,
    "nr_args": _T.UINT32, "home": _T.CHARBUF, "shell": _T.CHARBUF, "container_id": _T.CHARBUF,
    "oldfd": _T.FD, "newfd": _T.FD, "value_bytebuf": _T.BYTEBUF, "value_charbuf": _T.CHARBUF,
    "aux": _T.INT32, "option": _T.ENUMFLAGS32, "arg2_str": _T.CHARBUF, "arg2_int": _T.INT64,
    "pid_fd": _T.FD, "target_fd": _T.FD, "img": _T.BYTEBUF, "uargs": _T.CHARBUF,
}
