"""Running the skill without Alexa: request envelopes, utterance resolution, terminal chat."""
