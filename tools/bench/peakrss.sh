#!/bin/bash
# tools/bench/peakrss.sh CMD...: runs CMD, samples /proc/PID/status every 50 ms, prints the peak RssAnon and RssFile (MB) and the wall time
"$@" > /tmp/peakrss.out 2>&1 &
pid=$!; pa=0; pf=0; t0=$(date +%s.%N)
while kill -0 $pid 2>/dev/null; do
  if [ -r /proc/$pid/status ]; then
    a=$(awk '/RssAnon/{print $2}' /proc/$pid/status); f=$(awk '/RssFile/{print $2}' /proc/$pid/status)
    [ -n "$a" ] && [ "$a" -gt "$pa" ] && pa=$a; [ -n "$f" ] && [ "$f" -gt "$pf" ] && pf=$f
  fi
  sleep 0.05
done
wait $pid; rc=$?
echo "rc=$rc peak RssAnon $((pa/1024)) MB, peak RssFile $((pf/1024)) MB, wall $(echo "$(date +%s.%N) - $t0" | bc) s"
