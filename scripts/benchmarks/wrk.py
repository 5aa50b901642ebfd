"""scripts/bench's load: wrk (from Debian's packages) against the gateway at a fixed
number of connections, each request with a random user's bearer token, and the CPU each
process family spends per request, read from /proc."""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scripts.benchmarks.figures import cpu_per_request, parse_wrk

CONNECTIONS = 32

WRK_SCRIPT = """-- Written by scripts/bench. Arguments: path template, tokens file, lowest id,
-- highest id. Each request carries a random user's bearer token; "{id}" in the path
-- becomes a random id in [lowest, highest].
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("seed", threads)
end

local template, tokens, low, high = "/", {}, nil, nil
function init(args)
  math.randomseed(os.time() * 100 + (seed or 0))
  template = args[1]
  if args[2] and args[2] ~= "-" then
    for line in io.lines(args[2]) do tokens[#tokens + 1] = line end
  end
  low, high = tonumber(args[3]), tonumber(args[4])
end

function request()
  local path = template
  if low then path = path:gsub("{id}", tostring(math.random(low, high))) end
  local headers = {}
  if #tokens > 0 then headers["Authorization"] = "Bearer " .. tokens[math.random(#tokens)] end
  return wrk.format("GET", path, headers)
end
"""


def ensure_wrk() -> str:
    """wrk from Debian's packages, installed when missing (needs root or sudo)."""
    found = shutil.which("wrk")
    if found:
        return found
    print("installing wrk from Debian's packages ...", flush=True)
    prefix = [] if os.geteuid() == 0 else ["sudo", "-n"]
    install = [*prefix, "apt-get", "install", "-y", "-q", "wrk"]
    if subprocess.run(install, stdout=subprocess.DEVNULL).returncode != 0:
        subprocess.run([*prefix, "apt-get", "update", "-q"], stdout=subprocess.DEVNULL, check=True)
        subprocess.run(install, stdout=subprocess.DEVNULL, check=True)
    found = shutil.which("wrk")
    if not found:
        raise SystemExit("wrk is not installed and could not be installed: apt-get install wrk")
    return found


def cpu_seconds(groups: dict[int, str], database_prefix: str) -> dict[str, float]:
    """CPU time (user + system) used so far by each of this run's process groups, and by
    the PostgreSQL backends serving its databases, read from /proc."""
    ticks = os.sysconf("SC_CLK_TCK")
    totals: dict[str, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            family = groups.get(int(fields[2]))
            if family is None and b"postgres" in (entry / "cmdline").read_bytes()[:16]:
                cmdline = (entry / "cmdline").read_bytes()
                family = "postgres" if database_prefix.encode() in cmdline else None
        except OSError:  # the process ended meanwhile
            continue
        if family:
            totals[family] = totals.get(family, 0.0) + (int(fields[11]) + int(fields[12])) / ticks
    return totals


@dataclass
class Load:
    """wrk against the gateway, with the CPU each process family spends per request."""

    wrk: str
    script: Path
    base_url: str
    groups: dict[int, str]
    database_prefix: str

    def run(
        self,
        path: str,
        seconds: int,
        *,
        tokens: Path | None = None,
        ids: tuple[int, int] | None = None,
    ) -> dict[str, Any]:
        """One phase at CONNECTIONS connections: wrk's parsed report, the load average
        before it and the CPU milliseconds per request of each process family."""
        command = [
            *(self.wrk, "-t2", f"-c{CONNECTIONS}", f"-d{seconds}s", "--timeout", "10s"),
            *("--latency", "-s", str(self.script), self.base_url, "--", path),
            str(tokens) if tokens else "-",
            *((str(ids[0]), str(ids[1])) if ids else ()),
        ]
        load = os.getloadavg()[0]
        cpu_before = cpu_seconds(self.groups, self.database_prefix)
        output = subprocess.run(
            command, capture_output=True, text=True, check=True, timeout=seconds + 60
        ).stdout
        result = parse_wrk(output)
        cpu = cpu_per_request(
            cpu_before, cpu_seconds(self.groups, self.database_prefix), result["requests"]
        )
        result.update(path=path, loadavg_before=round(load, 2), cpu_ms_per_request=cpu)
        if result["non_2xx"] or result["socket_errors"]:
            raise RuntimeError(f"{path}: errors under load:\n{output}")
        return result
