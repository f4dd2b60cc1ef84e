"""The local stack: embedded AWS (moto server), resources from template.yaml, API Gateway + Cognito
authorizer emulation, queue/stream pollers and schedules driving the real handlers. Not deployed."""
