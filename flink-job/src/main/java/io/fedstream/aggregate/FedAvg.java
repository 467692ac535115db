package io.fedstream.aggregate;

/** Sample-weighted FedAvg: base + sum(n_i * delta_i) / sum(n_i). */
public final class FedAvg implements AggregationRule {
    private static final long serialVersionUID = 1L;

    @Override
    public String name() {
        return "fedavg";
    }

    @Override
    public float[] apply(float[] base, WeightedSum sum, long decidedTotalWeight) {
        if (sum.totalWeight != decidedTotalWeight) {
            throw new IllegalStateException("accumulated weight " + sum.totalWeight + " differs from the decided "
                    + decidedTotalWeight);
        }
        double divisor = decidedTotalWeight;
        float[] out = new float[base.length];
        for (int i = 0; i < base.length; i++) {
            out[i] = (float) (base[i] + sum.mean(i, divisor));
        }
        return out;
    }
}
