exec </dev/null
t='/opt/x y'
if [ -d "$t" ]; then t="$t"/'my file'; echo D; fi
mkdir -p -- "$(dirname -- "$t")"
sum() { if command -v openssl >/dev/null 2>&1; then h=$(openssl dgst -sha256 -r < "$1"); else h=$(sha256sum < "$1"); fi; echo "${h%% *}"; }
if [ -f "$t" ]; then echo "0 $(sum "$t") $(stat -c %a -- "$t")"; fi
---
exec </dev/null
mkdir -p -- '/opt/dest dir' '/opt/dest dir/sub $(x)'
sum() { if command -v openssl >/dev/null 2>&1; then h=$(openssl dgst -sha256 -r < "$1"); else h=$(sha256sum < "$1"); fi; echo "${h%% *}"; }
i=0
for f in '/opt/dest dir/it'\''s' '/opt/dest dir/sub $(x)/f'; do
  if [ -f "$f" ]; then echo "$i $(sum "$f") $(stat -c %a -- "$f")"; fi
  i=$((i+1))
done
