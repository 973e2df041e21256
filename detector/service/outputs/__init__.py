"""Outputs of the sidecar: stdout, file, webhook and the gRPC server, each with a worker."""
