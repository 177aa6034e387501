"""All AWS data access: DynamoDB, S3, SSM and Step Functions. Nothing else imports boto3."""
