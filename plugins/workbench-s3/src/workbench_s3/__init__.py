"""Workbench storage back-end `s3`: lake data and artifacts on S3-compatible object storage."""
