// The aggregator: placeholder until its files land.
