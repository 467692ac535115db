package io.fedstream.protocol.client;

/** What a client reports about its local training along with an update. */
public record UpdateMetrics(double trainLoss, double trainAccuracy, long trainTimeMs) {}
