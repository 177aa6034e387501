"""CloudFormation stacks of the lendguard CDK app."""
