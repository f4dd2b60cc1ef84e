"""All DynamoDB access of the suite lives in this package (single-table design, PynamoDB)."""
