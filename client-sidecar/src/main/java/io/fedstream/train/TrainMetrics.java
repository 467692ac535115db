package io.fedstream.train;

/**
 * What one local training run did.
 *
 * @param loss mean softmax cross-entropy over every sample visit of all local epochs (measured on the batch
 *     before its update, as is usual for running training loss)
 * @param accuracy share of correct predictions over the same visits
 * @param samples size of the training set (the FedAvg weight); 0 if nothing was trained
 * @param steps number of optimizer steps taken
 * @param durationMs wall time of the run
 */
public record TrainMetrics(double loss, double accuracy, int samples, int steps, long durationMs) {}
