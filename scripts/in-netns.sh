#!/bin/sh
# Runs a command in a private network namespace with only loopback up, so a
# test or benchmark cannot send a packet (or a DNS query) anywhere else.
set -eu
if [ "$(id -u)" = 0 ]; then
    exec unshare --net -- sh -c 'ip link set lo up && exec "$@"' sh "$@"
fi
# Without root, a user namespace gives the same isolation where it is allowed.
exec unshare --net --map-root-user -- sh -c 'ip link set lo up && exec "$@"' sh "$@"
