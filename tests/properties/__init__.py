"""Hypothesis properties of the S3 XCom backend, run through the running release's real hooks."""
