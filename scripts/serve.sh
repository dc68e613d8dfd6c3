#!/usr/bin/env bash
# Sets up (scripts/setup-web.sh), then serves the annotation page (www/) and the browser library
# (web/) on 127.0.0.1 and prints the address. Builds the wasm bundle first if web/pkg is missing
# and installs the page's pinned npm dependencies (fflate, OpenSeadragon) if www/node_modules is
# missing or stale.
# PORT picks the port (default 8080; 0 = any free one). Stop with Ctrl+C.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
source "$here/env.sh"
bash "$here/setup-web.sh"

if [ ! -f "$root/web/pkg/histoseg_wasm_bg.wasm" ]; then
  bash "$here/build-web.sh"
fi
stamp="$root/www/node_modules/.histoseg-lock"
if ! cmp -s "$root/www/package-lock.json" "$stamp"; then
  (cd "$root/www" && npm ci --no-audit --no-fund)
  cp "$root/www/package-lock.json" "$stamp"
fi

cd "$root"
exec node --input-type=module -e '
import { serve } from "./web/test/serve.mjs";
const { url } = await serve(".", { port: Number(process.env.PORT ?? 8080) });
console.log(`histoseg: annotation page at ${url}/www/index.html`);
console.log(`          OpenSeadragon demo at ${url}/www/osd.html (Ctrl+C stops)`);
'
