"""The Alexa adapter: ASK handlers around the core, CanFulfill answers, the envelope gate, the
night display (APL) and CloudWatch metrics. Knows the ASK SDK; holds no conversation rules."""
