umask 077
live=
for d in /tmp/.kubeon-*; do
  [ -d "$d" ] && [ ! -L "$d" ] && [ -O "$d" ] || continue
  o=$(cat "$d/owner" 2>/dev/null) || o=
  if [ -n "$o" ]; then
    if [ -d "/proc/$o" ]; then live=1; continue; fi
  elif [ -z "$(find "$d" -maxdepth 0 -mmin +60)" ]; then live=1; continue; fi
  for f in "$d"/*.pid; do
    p=$(cat "$f" 2>/dev/null) || continue
    case $p in ''|*[!0-9]*) continue ;; esac
    if tr '\0' '\n' < "/proc/$p/cmdline" 2>/dev/null | grep -qF -- "$d/"; then kill -TERM "$p" 2>/dev/null || true; fi
  done
  rm -rf -- "$d" 2>/dev/null || true
done
[ -n "$live" ] || ( echo 'extra sweep' ) >/dev/null 2>&1 || true
mkdir -m 700 -- /tmp/.kubeon-00ff && printf '%s\n' "$PPID" > /tmp/.kubeon-00ff/owner
---
for i in 1 2 3 4 5 6 7 8 9 10; do [ -s /tmp/.kubeon-00ff/3-ab.sh.pid ] && break; sleep 0.1; done; kill -TERM "$(cat /tmp/.kubeon-00ff/3-ab.sh.pid)" 2>/dev/null || true
