"""Answering: the Matcher and its answerers (chains, industries, parks, counterparts) with their indexes."""
