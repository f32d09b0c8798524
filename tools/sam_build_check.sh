#!/usr/bin/env bash
# Deploy-readiness check for template.yaml, offline, no AWS credentials:
#   cfn-lint, `sam validate --lint`, `sam build` (lambda/Makefile: locked requirements and
#   bytecode), the size of the built function artifact (unzipped, and zipped the way
#   `sam deploy` uploads it), then tools/check_artifact.py on it (pins, no shadowing of the
#   runtime's botocore, bytecode for every module).
#
# Usage: tools/sam_build_check.sh [extra `sam build` arguments, e.g. --no-cached]
#
# Needs: the SAM CLI in .venv-sam (created here if missing, from requirements/sam.txt: pinned,
# with hashes) and a python3.13 interpreter on PATH, the function's
# runtime (with pyenv: PYENV_VERSION=3.13.0:3.11.7, the default below). Takes a minute or two;
# not part of the unit tests.
set -euo pipefail

cd "$(dirname "$0")/.."
REPO="$PWD"
SAM_VENV="${SAM_VENV:-$REPO/.venv-sam}"
export PYENV_VERSION="${PYENV_VERSION:-3.13.0:3.11.7}"
export SAM_CLI_TELEMETRY=0
FUNCTION=SkillFunction
BUILD_DIR="$REPO/.aws-sam/build"

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f s", b - a }'; }
step() { printf '\n== %s\n' "$*"; }

want="$(sed -n 's/^aws-sam-cli==//p' requirements/sam.in)"
if [[ "$("$SAM_VENV/bin/sam" --version 2>/dev/null | awk '{print $NF}')" != "$want" ]]; then
  rm -rf "$SAM_VENV"
  step "creating $SAM_VENV with the SAM CLI"
  t=$(now)
  python3.11 -m venv "$SAM_VENV"
  # --no-deps: the lock holds every package; pip cannot match a dependency asked for with
  # extras (aws-sam-cli wants boto3-stubs[...]) against a hash-pinned line without them.
  "$SAM_VENV/bin/pip" install --quiet --no-deps --require-hashes -r requirements/sam.txt
  echo "done in $(elapsed "$t")"
fi
SAM="$SAM_VENV/bin/sam"
if [[ ! -x "$REPO/.venv/bin/python" ]]; then make -C "$REPO" setup; fi
CFN_LINT="$REPO/.venv/bin/cfn-lint"

if ! python3.13 --version >/dev/null 2>&1; then
  echo "error: python3.13 is not on PATH; sam build needs the runtime's interpreter" >&2
  echo "       (pyenv: pyenv install 3.13 and PYENV_VERSION=3.13.0:3.11.7)" >&2
  exit 1
fi

total=$(now)
echo "sam $("$SAM" --version | awk '{print $NF}'), cfn-lint $("$CFN_LINT" --version | awk '{print $NF}'), $(python3.13 --version)"

step "cfn-lint template.yaml"
t=$(now)
"$CFN_LINT" template.yaml
echo "clean ($(elapsed "$t"))"

step "sam validate --lint"
t=$(now)
"$SAM" validate --lint
echo "($(elapsed "$t"))"

step "sam build $*"
t=$(now)
"$SAM" build "$@"
echo "sam build took $(elapsed "$t")"

step "artifact .aws-sam/build/$FUNCTION"
"$SAM_VENV/bin/python" - "$BUILD_DIR/$FUNCTION" <<'PY'
import io
import os
import sys
import zipfile
from collections import Counter

root = sys.argv[1]
files = []
for base, dirs, names in os.walk(root):
    dirs.sort()
    for name in sorted(names):
        path = os.path.join(base, name)
        files.append((os.path.relpath(path, root), os.path.getsize(path)))
unzipped = sum(size for _, size in files)
buffer = io.BytesIO()
with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
    for rel, _ in files:
        archive.write(os.path.join(root, rel), rel)
zipped = buffer.getbuffer().nbytes

def mb(n: int) -> str:
    return f"{n / 1_000_000:.2f} MB ({n:,} bytes)"

print(f"files:    {len(files)}")
print(f"unzipped: {mb(unzipped)}   (Lambda limit 250 MB)")
print(f"zipped:   {mb(zipped)}   (Lambda limit 50 MB for a direct upload)")
top = Counter()
for rel, size in files:
    top[rel.split(os.sep)[0]] += size
print("largest top-level entries:")
for name, size in top.most_common(8):
    print(f"  {size / 1000:9.1f} kB  {name}")
PY

step "artifact contents (tools/check_artifact.py)"
"$REPO/.venv/bin/python" tools/check_artifact.py "$BUILD_DIR/$FUNCTION" \
  --requirements lambda/requirements.txt

printf '\nall checks passed in %s\n' "$(elapsed "$total")"
