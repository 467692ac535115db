package io.fedstream.data;

import java.util.Arrays;
import java.util.List;

/**
 * Labelled samples held in memory: one flat float array of {@code size * featureSize} features (row-major,
 * sample after sample), one int label per sample in {@code [0, numClasses)}, the shape of a single sample
 * (e.g. {@code {28, 28}} for MNIST, {@code {8, 8}} for the digits set) and the number of classes.
 *
 * <p>Instances are immutable from the outside: the constructor copies nothing (datasets are large), so the
 * caller must not modify the arrays it passed in; every accessor that returns an array returns a copy.
 */
public final class Dataset {
    private final float[] features;
    private final int[] labels;
    private final long[] featureShape;
    private final int featureSize;
    private final int numClasses;

    /**
     * @param features flat features, {@code labels.length * product(featureShape)} values; ownership passes to
     *     the dataset
     * @param labels one label per sample, each in {@code [0, numClasses)}; ownership passes to the dataset
     * @param featureShape shape of one sample, every dimension positive
     * @param numClasses number of classes of the task (not only those present in this dataset), at least 2
     */
    public Dataset(float[] features, int[] labels, long[] featureShape, int numClasses) {
        if (featureShape.length == 0) {
            throw new IllegalArgumentException("a sample has at least one dimension");
        }
        long fs = 1;
        for (long d : featureShape) {
            if (d <= 0) {
                throw new IllegalArgumentException("non-positive feature dimension: " + Arrays.toString(featureShape));
            }
            fs = Math.multiplyExact(fs, d);
        }
        if (numClasses < 2) {
            throw new IllegalArgumentException("numClasses must be at least 2, got " + numClasses);
        }
        if ((long) labels.length * fs != features.length) {
            throw new IllegalArgumentException("features hold " + features.length + " values, expected "
                    + labels.length + " samples x " + fs);
        }
        for (int i = 0; i < labels.length; i++) {
            if (labels[i] < 0 || labels[i] >= numClasses) {
                throw new IllegalArgumentException("label " + labels[i] + " of sample " + i + " is outside [0, "
                        + numClasses + ")");
            }
        }
        this.features = features;
        this.labels = labels;
        this.featureShape = featureShape.clone();
        this.featureSize = Math.toIntExact(fs);
        this.numClasses = numClasses;
    }

    /** Number of samples. */
    public int size() {
        return labels.length;
    }

    public boolean isEmpty() {
        return labels.length == 0;
    }

    /** Number of floats per sample (product of {@link #featureShape()}). */
    public int featureSize() {
        return featureSize;
    }

    public long[] featureShape() {
        return featureShape.clone();
    }

    public int numClasses() {
        return numClasses;
    }

    public int label(int sample) {
        return labels[sample];
    }

    /** A copy of all labels. */
    public int[] labels() {
        return labels.clone();
    }

    /** A copy of all features, flat. */
    public float[] features() {
        return features.clone();
    }

    public float feature(int sample, int index) {
        if (index < 0 || index >= featureSize) {
            throw new IndexOutOfBoundsException("feature " + index + " of " + featureSize);
        }
        return features[sample * featureSize + index];
    }

    /** Copies the features of one sample into {@code dst} at {@code dstOffset}. */
    public void copyFeatures(int sample, float[] dst, int dstOffset) {
        System.arraycopy(features, sample * featureSize, dst, dstOffset, featureSize);
    }

    /**
     * Copies the features of the samples {@code order[from .. from+count)} one after the other into {@code dst}
     * (which must hold {@code count * featureSize} floats); this is how a mini-batch is assembled.
     */
    public void gatherFeatures(int[] order, int from, int count, float[] dst) {
        for (int i = 0; i < count; i++) {
            System.arraycopy(features, order[from + i] * featureSize, dst, i * featureSize, featureSize);
        }
    }

    /** Histogram of labels, {@code numClasses} entries. */
    public int[] classCounts() {
        int[] counts = new int[numClasses];
        for (int l : labels) {
            counts[l]++;
        }
        return counts;
    }

    /** The samples at {@code indices}, in that order (duplicates allowed). */
    public Dataset subset(int[] indices) {
        float[] f = new float[Math.multiplyExact(indices.length, featureSize)];
        int[] l = new int[indices.length];
        for (int i = 0; i < indices.length; i++) {
            int s = indices[i];
            if (s < 0 || s >= labels.length) {
                throw new IndexOutOfBoundsException("sample " + s + " of " + labels.length);
            }
            System.arraycopy(features, s * featureSize, f, i * featureSize, featureSize);
            l[i] = labels[s];
        }
        return new Dataset(f, l, featureShape, numClasses);
    }

    /** The same samples viewed with another sample shape of the same size (e.g. {@code {64}} to {@code {8, 8}}). */
    public Dataset reshape(long... newFeatureShape) {
        long fs = 1;
        for (long d : newFeatureShape) {
            fs = Math.multiplyExact(fs, d);
        }
        if (fs != featureSize) {
            throw new IllegalArgumentException("cannot view " + featureSize + " features as "
                    + Arrays.toString(newFeatureShape));
        }
        return new Dataset(features, labels, newFeatureShape, numClasses);
    }

    /** The same samples for a task with another class count (at least every label + 1). */
    public Dataset withNumClasses(int classes) {
        return classes == numClasses ? this : new Dataset(features, labels, featureShape, classes);
    }

    /** Samples of all parts one after the other; the parts must agree on feature shape and class count. */
    public static Dataset concat(List<Dataset> parts) {
        if (parts.isEmpty()) {
            throw new IllegalArgumentException("nothing to concatenate");
        }
        Dataset first = parts.get(0);
        int n = 0;
        for (Dataset d : parts) {
            if (!Arrays.equals(d.featureShape, first.featureShape) || d.numClasses != first.numClasses) {
                throw new IllegalArgumentException("datasets disagree on feature shape or number of classes");
            }
            n = Math.addExact(n, d.size());
        }
        float[] f = new float[Math.multiplyExact(n, first.featureSize)];
        int[] l = new int[n];
        int at = 0;
        for (Dataset d : parts) {
            System.arraycopy(d.features, 0, f, at * first.featureSize, d.features.length);
            System.arraycopy(d.labels, 0, l, at, d.labels.length);
            at += d.size();
        }
        return new Dataset(f, l, first.featureShape, first.numClasses);
    }

    /** Same shape, classes, labels and bit-identical features. */
    public boolean contentEquals(Dataset other) {
        if (other == null || other.numClasses != numClasses || !Arrays.equals(other.featureShape, featureShape)
                || !Arrays.equals(other.labels, labels)) {
            return false;
        }
        for (int i = 0; i < features.length; i++) {
            if (Float.floatToRawIntBits(features[i]) != Float.floatToRawIntBits(other.features[i])) {
                return false;
            }
        }
        return true;
    }

    @Override
    public String toString() {
        return "Dataset[" + size() + " samples of " + Arrays.toString(featureShape) + ", " + numClasses + " classes]";
    }
}
