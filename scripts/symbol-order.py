#!/usr/bin/env python3
"""Writes scripts/symbol-order.txt: the functions a release triage runs for its
usual commands, in the order lld should lay them out (`make release` passes
the file to `--symbol-ordering-file`).

Why: a run executes about 2 MB of the binary's 21 MB of code, scattered over
all of it; every page touched maps 64 KB around it (the kernel's fault-around),
so a run held 13.5 MB of code resident. Packed together they take a few MB:
peak RSS and start-up both drop (see README, Benchmark).

How: the commands below run under callgrind (valgrind), which names every
function executed; each is listed once, in the order of the commands. A
function whose input section holds more than itself (a library compiled
without -ffunction-sections: lld moves the whole section) goes after the
others, so what it drags along does not split the compact part.

A stale file costs nothing but locality: names that no longer exist are
skipped (--no-warn-symbol-ordering). Regenerate after large changes:

    make symbol-order        (needs valgrind; builds the release binary first)

Usage: scripts/symbol-order.py BINARY SCRATCH_DIR  (run inside scripts/in-netns.sh)
"""
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile
import demo_upstream

binary, scratch = sys.argv[1], sys.argv[2]
here = os.path.dirname(os.path.abspath(__file__))
work = tempfile.mkdtemp(prefix="triage-order-")
# valgrind cannot read the DWARF 5 clang writes: it gets a copy without it.
plain = f"{work}/triage"
subprocess.run(["objcopy", "--strip-debug", binary, plain], check=True)

server, facts = demo_upstream.start(plain, "symbol-order")
with open(f"{work}/targets.txt", "w") as f:
    f.write(f"127.0.0.1:{facts['port']}\n")

commands = [
    ["--version"],
    ["explain", "80"],
    ["run", facts["url"], "--set", "addresses=127.0.0.1", "--ca-file", facts["ca_file"], "--out", f"{work}/case1",
     "--step-timeout", "60s"],
    ["run", facts["url"], "--set", "addresses=127.0.0.1", "--ca-file", facts["ca_file"], "--out", f"{work}/case2",
     "--step-timeout", "60s", "--format", "md,json,jira"],
    ["scan", "--targets", f"{work}/targets.txt", "--ca-file", facts["ca_file"]],
    ["validate", os.path.join(here, "..", "runbooks", "tls-upstream.yaml")],
]
dumps = []
try:
    for i, args in enumerate(commands):
        out = f"{work}/callgrind.{i}"
        ran = subprocess.run(["valgrind", "--tool=callgrind", "--demangle=no", f"--callgrind-out-file={out}", plain] + args,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=600)
        # 0 or 1 (the demo's upstream is broken on purpose): anything else profiled a usage error, not the command.
        if ran.returncode not in (0, 1):
            sys.exit(f"symbol-order: triage {' '.join(args[:2])} exited {ran.returncode} under callgrind")
        dumps.append(out)
finally:
    server.terminate()
    server.wait()


def executed(path):
    """The functions of the binary itself that a callgrind dump names, in the order it names them."""
    objects, functions, names, seen = {}, {}, [], set()
    current = callee = None
    with open(path) as f:
        for line in f:
            m = re.match(r"^(ob|cob)=\((\d+)\)(?: (.*))?$", line.rstrip("\n"))
            if m:
                if m.group(3):
                    objects[m.group(2)] = m.group(3)
                if m.group(1) == "ob":
                    current, callee = objects.get(m.group(2)), None
                else:
                    callee = objects.get(m.group(2))
                continue
            m = re.match(r"^(fn|cfn)=\((\d+)\)(?: (.*))?$", line.rstrip("\n"))
            if m:
                if m.group(3):
                    functions[m.group(2)] = m.group(3)
                name = functions.get(m.group(2))
                owner = current if m.group(1) == "fn" else (callee or current)
                if name and owner == plain and not name.startswith("0x"):
                    name = re.sub(r"'\d+$", "", name)  # callgrind's recursion marks
                    if name not in seen:
                        seen.add(name)
                        names.append(name)
                if m.group(1) == "fn":
                    callee = None
    return names


order, seen = [], set()
for dump in dumps:
    for name in executed(dump):
        if name not in seen:
            seen.add(name)
            order.append(name)

# The size of the input section each symbol lives in: the package's objects and the static Swift libraries.
swift = shutil.which("swift")
static = os.path.join(os.path.dirname(os.path.realpath(swift)), "..", "lib", "swift_static", "linux")
inputs = glob.glob(f"{scratch}/release/*.build/*.o") + glob.glob(f"{static}/*.a")
section_of = {}
for path in inputs:
    listing = subprocess.run(["readelf", "-SsW", path], capture_output=True, text=True, errors="replace").stdout
    sizes = {}
    for line in listing.split("\n"):
        if line.startswith("File: "):
            sizes = {}
        m = re.match(r"^\s*\[\s*(\d+)\]\s+(\S+)\s+\S+\s+[0-9a-f]+\s+[0-9a-f]+\s+([0-9a-f]+)", line)
        if m:
            sizes[m.group(1)] = int(m.group(3), 16)
            continue
        m = re.match(r"^\s*\d+:\s+[0-9a-f]+\s+(\S+)\s+FUNC\s+\S+\s+\S+\s+(\d+)\s+(\S+)$", line)
        if m and m.group(3) in seen:
            section_of[m.group(3)] = (int(m.group(1), 0), sizes.get(m.group(2), 0))


def compact(name):
    size, section = section_of.get(name, (0, 0))
    return section <= 2 * size + 4096


packed = [n for n in order if compact(n)] + [n for n in order if not compact(n)]
target = os.path.join(here, "symbol-order.txt")
with open(target + ".tmp", "w") as f:
    f.write("\n".join(packed) + "\n")
os.replace(target + ".tmp", target)
shutil.rmtree(work, ignore_errors=True)
print(f"symbol-order: {len(packed)} functions ({sum(1 for n in packed if compact(n))} in sections of their own) -> {target}")
