// The run store: placeholder until its files land.
