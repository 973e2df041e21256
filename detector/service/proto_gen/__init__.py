"""Generated from Falco 0.43.1 protos by regen.sh; do not edit."""
