"""The lendguard CDK app: ``app.py`` builds one ``LendGuard-<env>`` stack per run."""
