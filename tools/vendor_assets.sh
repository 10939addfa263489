#!/usr/bin/env bash
# Vendor the JavaScript the book needs so it renders offline (math and ipywidgets).
#
# Without this, MathJax and the widget manager come from CDNs and a reader without internet
# sees raw TeX and empty widget cells. Fetches, from the npm registry:
#   mathjax@3.2.2  @jupyter-widgets/html-manager@1.0.6  requirejs@2.3.7
# and copies the needed files to book/_static/vendor/{mathjax,widgets} (gitignored).
# _config.yml points mathjax_path and nb_ipywidgets_js there. `make book` runs this once
# (stamp: book/_static/vendor/.stamp).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
dest="$root/book/_static/vendor"
packages=(mathjax@3.2.2 @jupyter-widgets/html-manager@1.0.6 requirejs@2.3.7)

if ! command -v npm >/dev/null 2>&1; then
    cat >&2 <<'MSG'
error: npm is not installed, but the book vendors MathJax and the ipywidgets JavaScript from
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
hm="$tmp/jupyter-widgets-html-manager-1.0.6/package"
rq="$tmp/requirejs-2.3.7/package"
for d in "$mj" "$hm" "$rq"; do
    [ -d "$d" ] || { echo "error: npm pack did not produce $d" >&2; exit 1; }
done

new="$dest.new"
rm -rf "$new"
mkdir -p "$new/mathjax/output/chtml/fonts" "$new/mathjax/input/tex" "$new/widgets"
cp "$mj/es5/tex-mml-chtml.js" "$new/mathjax/"
cp -r "$mj/es5/output/chtml/fonts/woff-v2" "$new/mathjax/output/chtml/fonts/"
cp -r "$mj/es5/input/tex/extensions" "$new/mathjax/input/tex/"
cp -r "$mj/es5/ui" "$mj/es5/a11y" "$new/mathjax/"
cp "$hm"/dist/embed-amd.js "$hm"/dist/*.embed.js "$new/widgets/"
cp "$hm"/dist/*.woff* "$new/widgets/" 2>/dev/null || true
cp "$rq/require.js" "$new/widgets/"
printf '%s\n' "${packages[@]}" > "$new/.stamp"

rm -rf "$dest"
mv "$new" "$dest"
echo "vendored $(du -sh "$dest" | cut -f1) into book/_static/vendor"
