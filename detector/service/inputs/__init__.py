"""Inputs of the sidecar: JSON lines over sockets and files, and Falco's gRPC outputs API."""
