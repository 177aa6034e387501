"""The reviewers' console: static assets (HTML, CSS, ES modules) over the same HTTP API.

Shipped with the wheel (package data), never in the Lambda layer. ``lendguard serve`` serves
them at ``/console`` (:mod:`lendguard.offline.console.assets`); on AWS the CDK stack publishes
them to a private bucket behind CloudFront (``infra/constructs/console.py``).
"""
