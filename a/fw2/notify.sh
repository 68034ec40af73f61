#!/bin/sh
echo "$(date +%s%3N) notify-begin $1" >> 'a/fw2/steps.log'
:
echo "$(date +%s%3N) notify-end $1" >> 'a/fw2/steps.log'
