#!/bin/sh
# Fetches the charting library the dashboard embeds, from npm, with its
# licence. Run it from the repository root to move to another version, then
# commit the files it writes: builds never reach the network.
set -eu
version=${1:-4.6.1}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "chart.js@$version" >/dev/null && tar xzf chart.js-"$version".tgz)
cp "$tmp/package/dist/chart.umd.min.js" web/static/vendor/chart.umd.min.js
cp "$tmp/package/LICENSE.md" web/static/vendor/chart.js-LICENSE.md
echo "web/static/vendor: Chart.js $version"
