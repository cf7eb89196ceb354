#!/usr/bin/env python3
"""The loop a user would write instead of apiary, with Python's standard library only.

Syncs the mock's large collection like the benchmark's connector does: the `issues` stream
following `Link: rel="next"`, then the `events` stream following `meta.next_cursor` in the body.
One request at a time on a keep-alive connection; `json.loads` of each page; every record
written as one JSONL line; 429 and 5xx retried after `Retry-After` (seconds or an HTTP date),
dropped connections retried on a new one. Prints one JSON line: {"records": N, "pages": P}.

    python3 reference_loop.py --base-url http://127.0.0.1:PORT --out DIR
"""

import argparse
import email.utils
import http.client
import json
import os
import re
import sys
import time
import urllib.parse

RETRY_STATUSES = {429, 500, 502, 503, 504}
MAX_ATTEMPTS = 5
LINK_NEXT = re.compile(r'<([^>]*)>\s*;\s*rel="?next"?')


class Client:
    """One keep-alive HTTP connection to the API, with retries."""

    def __init__(self, base_url):
        parts = urllib.parse.urlsplit(base_url)
        self.host, self.port = parts.hostname, parts.port or 80
        self.conn = None

    def get(self, url):
        """(headers, body) of a 200 for `url` (a path or an absolute URL on the same host)."""
        path = urllib.parse.urlsplit(url)
        target = path.path + ("?" + path.query if path.query else "")
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                if self.conn is None:
                    self.conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
                self.conn.request("GET", target, headers={"Accept": "application/json"})
                response = self.conn.getresponse()
                body = response.read()
            except (OSError, http.client.HTTPException) as error:
                self.conn = None
                if attempt == MAX_ATTEMPTS:
                    raise RuntimeError(f"GET {target}: {error}") from error
                time.sleep(0.1 * attempt)
                continue
            if response.status == 200:
                return response.headers, body
            if response.status not in RETRY_STATUSES or attempt == MAX_ATTEMPTS:
                raise RuntimeError(f"GET {target}: HTTP {response.status}")
            time.sleep(retry_after(response.headers.get("Retry-After"), attempt))
        raise AssertionError("unreachable")


def retry_after(value, attempt):
    """Seconds to wait: the Retry-After header (seconds or an HTTP date), else a backoff."""
    if value:
        if value.strip().isdigit():
            return min(int(value), 60)
        when = email.utils.parsedate_to_datetime(value)
        if when is not None:
            return max(0.0, min(when.timestamp() - time.time(), 60))
    return 0.2 * 2 ** (attempt - 1)


def sync_link(client, url, out):
    """Follow `Link: rel="next"` from `url`; returns (records, pages)."""
    records = pages = 0
    while url:
        headers, body = client.get(url)
        items = json.loads(body)
        records += write_records(items, out)
        pages += 1
        match = LINK_NEXT.search(headers.get("Link", ""))
        url = match.group(1) if match and items else None
    return records, pages


def sync_cursor(client, url, out):
    """Follow `meta.next_cursor` in the body from `url`; returns (records, pages)."""
    records = pages = 0
    next_url = url
    while next_url:
        _, body = client.get(next_url)
        page = json.loads(body)
        records += write_records(page["items"], out)
        pages += 1
        cursor = (page.get("meta") or {}).get("next_cursor")
        next_url = f"{url}&cursor={urllib.parse.quote(cursor)}" if cursor and page["items"] else None
    return records, pages


def write_records(items, out):
    for record in items:
        out.write(json.dumps(record))
        out.write("\n")
    return len(items)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--out", required=True, help="folder for issues.jsonl and events.jsonl")
    parser.add_argument("--owner", default="apiary-mock")
    parser.add_argument("--per-page", type=int, default=100)
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    client = Client(args.base_url)
    total = {"records": 0, "pages": 0}
    streams = [
        ("issues", sync_link, f"/repos/{args.owner}/large/issues?per_page={args.per_page}"),
        ("events", sync_cursor, f"/api/events?limit={args.per_page}"),
    ]
    for name, sync, url in streams:
        with open(os.path.join(args.out, f"{name}.jsonl"), "w", encoding="utf-8") as out:
            records, pages = sync(client, url, out)
        total["records"] += records
        total["pages"] += pages
    print(json.dumps(total))


if __name__ == "__main__":
    try:
        main()
    except (RuntimeError, KeyError, ValueError) as error:
        sys.exit(f"reference_loop: {error}")
