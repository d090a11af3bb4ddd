#!/bin/sh
# A launcher as a shell script is: subshells that make no socket call,
# then the program itself, exec'd in its place.
for i in 1 2 3 4 5; do x=$(echo "$i"); done
exec "$@"
