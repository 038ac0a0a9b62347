exec </dev/null
t='/opt/x y'
if [ -d "$t" ]; then t="$t"/'my file'; echo D; fi
mkdir -p -- "$(dirname -- "$t")"
if [ -f "$t" ]; then h=$(sha256sum < "$t"); echo "0 ${h%% *} $(stat -c %a -- "$t")"; fi
---
exec </dev/null
mkdir -p -- '/opt/dest dir' '/opt/dest dir/sub $(x)'
i=0
for f in '/opt/dest dir/it'\''s' '/opt/dest dir/sub $(x)/f'; do
  if [ -f "$f" ]; then h=$(sha256sum < "$f"); echo "$i ${h%% *} $(stat -c %a -- "$f")"; fi
  i=$((i+1))
done
