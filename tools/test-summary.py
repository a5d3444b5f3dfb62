#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Count test cases across meson test logs and extra result files.

Each meson test that speaks TAP counts once per 'ok' / 'not ok' line; a test
without TAP lines (or one that crashed before any) counts once by its
result. Extra results are lines 'PASS name' or 'FAIL name'. Prints the
failures, then 'N passed, N failed' as the last line; exits 1 on failure.
"""
import json
import re
import sys

TAP = re.compile(r'^(not ok|ok)\b(.*)$')
DIAG_MAX = 20  # diagnostic lines shown per failure


def indent_under(head, lines):
    return '\n'.join([head] + ['    ' + x.strip() for x in lines[:DIAG_MAX]])


def failure(tag, name, what, notes):
    """A failed TAP line with its diagnostics: those printed since the
    previous TAP line (a check prints them before its verdict)."""
    return indent_under(f'{tag}/{name}: {what}', notes[-DIAG_MAX:])


def meson_log(path, tag, passed, failed):
    with open(path) as f:
        for line in f:
            t = json.loads(line)
            oks = bads = 0
            notes, details = [], None
            for out in (t.get('stdout') or '').splitlines():
                m = TAP.match(out)
                if not m:
                    if out.startswith('#'):
                        notes.append(out)
                    elif details is not None and out.strip():
                        details.append(out)  # Criterion: indented, after its verdict
                    continue
                if details:
                    failed[-1] = indent_under(failed[-1], details)
                details = None
                if m.group(1) == 'ok':
                    oks += 1
                else:
                    bads += 1
                    failed.append(failure(tag, t['name'], m.group(2).strip(), notes))
                    details = []
                notes = []
            if details:
                failed[-1] = indent_under(failed[-1], details)
            if bads and notes:  # what the test printed after its last verdict
                failed[-1] = indent_under(failed[-1], notes[-DIAG_MAX:])
            if t['result'] not in ('OK', 'EXPECTEDFAIL', 'SKIP') and bads == 0:
                bads = 1
                failed.append(f"{tag}/{t['name']}: {t['result']}")
            if oks == 0 and bads == 0 and t['result'] == 'OK':
                oks = 1
            passed[0] += oks


def extra(path, passed, failed):
    with open(path) as f:
        for line in f:
            word, _, name = line.strip().partition(' ')
            if word == 'PASS':
                passed[0] += 1
            elif word == 'FAIL':
                failed.append(name)


def main(argv):
    if len(argv) < 2 or argv[1] in ('-h', '--help'):
        print('usage: test-summary.py TAG=BUILD/meson-logs/testlog.json ... '
              '[--extra FILE]')
        return 0 if len(argv) >= 2 else 2
    passed, failed = [0], []
    args = iter(argv[1:])
    for a in args:
        if a == '--extra':
            extra(next(args), passed, failed)
        else:
            tag, _, path = a.partition('=')
            meson_log(path, tag, passed, failed)
    for f in failed:
        print(f'FAILED: {f}')
    print(f'{passed[0]} passed, {len(failed)} failed')
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
