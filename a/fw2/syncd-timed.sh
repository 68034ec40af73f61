#!/bin/sh
echo "$(date +%s%3N) begin $*" >> 'a/fw2/steps.log'
'/work/main/bin/ctsyncd' "$@"
rc=$?
echo "$(date +%s%3N) end $* $rc" >> 'a/fw2/steps.log'
exit $rc
