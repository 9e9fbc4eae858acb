"""The demo's broken upstream (`triage demo --serve`) for the scripts that measure against it: started,
and the facts it prints (url, port, host, ca_file) read before anything else runs."""
import subprocess
import sys


def start(triage, who="bench"):
    """The server process and its facts; exits the script when the upstream does not start."""
    server = subprocess.Popen([triage, "demo", "--serve"], stdout=subprocess.PIPE, text=True)
    facts = {}
    while len(facts) < 4:
        line = server.stdout.readline()
        if not line:
            sys.exit(f"{who}: the demo upstream did not start")
        key, _, value = line.strip().partition("=")
        facts[key] = value
    return server, facts
