package io.fedstream.train;

/**
 * Metrics of a model on a test set.
 *
 * @param loss mean softmax cross-entropy per sample (NaN for an empty set)
 * @param accuracy share of samples whose arg-max prediction is the label (NaN for an empty set)
 * @param samples number of samples evaluated
 */
public record EvalMetrics(double loss, double accuracy, int samples) {}
