"""Where the skill runs: the AWS Lambda entry point, the web service (with Alexa's request
verification), the command line and the terminal chat (local/)."""
