#!/usr/bin/env bash
# Regenerate the Falco 0.43.1 gRPC modules (checked in; grpcio-tools is a dev dependency only).
# Usage: detector/service/proto_gen/regen.sh [PROTO_DIR]   (default: ../shared/falco/proto)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
proto_dir="${1:-$root/../shared/falco/proto}"
py="${PYTHON:-$root/.venv/bin/python}"
rm -f "$here"/*_pb2*.py "$here"/*_pb2*.pyi
"$py" -m grpc_tools.protoc -I "$proto_dir" \
    --python_out="$here" --grpc_python_out="$here" --pyi_out="$here" \
    "$proto_dir"/outputs.proto "$proto_dir"/schema.proto "$proto_dir"/version.proto
# protoc emits top-level imports ("import schema_pb2"); make them package-relative.
sed -i -E 's/^import (schema|outputs|version)_pb2 as /from . import \1_pb2 as /' "$here"/*_pb2*.py "$here"/*_pb2*.pyi
