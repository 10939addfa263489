#!/usr/bin/env bash
# Vendor the JavaScript the book needs so it renders offline (math).
#
# Without this, MathJax comes from a CDN and a reader without internet sees raw TeX. Fetches
# mathjax@3.2.2 from the npm registry and copies the needed files to book/_static/vendor/mathjax
# (gitignored); _config.yml points mathjax_path there. No page keeps widget state (the
# eigenvalue explorer runs in a live kernel only), so no widget manager is shipped. `make book` runs this once
# (stamp: book/_static/vendor/.stamp).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
dest="$root/book/_static/vendor"
packages=(mathjax@3.2.2)

if ! command -v npm >/dev/null 2>&1; then
    cat >&2 <<'MSG'
error: npm is not installed, but the book vendors MathJax from
the npm registry so that it renders offline. Install Node.js with npm (Debian/Ubuntu:
`sudo apt-get install npm`; macOS: `brew install node`; or https://nodejs.org), then re-run
`make book`.
MSG
    exit 1
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "vendoring ${packages[*]} from npm into book/_static/vendor ..."
(cd "$tmp" && npm pack --silent "${packages[@]}" >/dev/null)
for tgz in "$tmp"/*.tgz; do
    mkdir "${tgz%.tgz}"
    tar -xzf "$tgz" -C "${tgz%.tgz}"
done
mj="$tmp/mathjax-3.2.2/package"
[ -d "$mj" ] || { echo "error: npm pack did not produce $mj" >&2; exit 1; }

new="$dest.new"
rm -rf "$new"
mkdir -p "$new/mathjax/output/chtml/fonts" "$new/mathjax/input/tex"
cp "$mj/es5/tex-mml-chtml.js" "$new/mathjax/"
cp -r "$mj/es5/output/chtml/fonts/woff-v2" "$new/mathjax/output/chtml/fonts/"
cp -r "$mj/es5/input/tex/extensions" "$new/mathjax/input/tex/"
cp -r "$mj/es5/ui" "$mj/es5/a11y" "$new/mathjax/"
printf '%s\n' "${packages[@]}" > "$new/.stamp"

rm -rf "$dest"
mv "$new" "$dest"
echo "vendored $(du -sh "$dest" | cut -f1) into book/_static/vendor"
