"""s3fs peer: download a prefix with `S3FileSystem.get(..., recursive=True)`, s3fs's own bulk path.

python s3fs_get.py s3://bucket/prefix/ DEST --endpoint-url URL
"""

from __future__ import annotations

import argparse

import s3fs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("uri")
    parser.add_argument("dest")
    parser.add_argument("--endpoint-url", required=True)
    args = parser.parse_args()
    fs = s3fs.S3FileSystem(endpoint_url=args.endpoint_url)
    source = args.uri[len("s3://") :].rstrip("/") + "/"
    fs.get(source, args.dest.rstrip("/") + "/", recursive=True)


if __name__ == "__main__":
    main()
