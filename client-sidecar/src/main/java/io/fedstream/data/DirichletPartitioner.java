package io.fedstream.data;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

/**
 * Splits a dataset into non-IID silos the usual way for federated-learning benchmarks: for every class, the
 * class's samples are dealt to the silos in proportions drawn from a symmetric Dirichlet(alpha). Small alpha
 * (0.1) gives silos dominated by one or two classes, large alpha (100) approaches an IID split. Each silo is then
 * split into train and test at random with {@code testFraction}.
 *
 * <p>Guarantees: every sample lands in exactly one silo and in exactly one of its splits; the same dataset,
 * parameters and seed give the identical split (only {@link java.util.Random}, whose algorithm is specified, is
 * used, with a hand-written Marsaglia-Tsang gamma sampler); every silo gets at least {@code minTrainPerSilo}
 * training samples. The minimum is enforced in two steps: first the class proportions are redrawn (continuing
 * the same random stream) up to {@value #MAX_REDRAWS} times until every silo is large enough, which keeps the
 * split an exact Dirichlet draw conditioned on the minimum; if that keeps failing (tiny alpha, many silos),
 * randomly chosen samples are moved from the currently largest silo to each short silo. Silos need
 * {@code ceil(minTrainPerSilo / (1 - testFraction))} samples, since the test split takes
 * {@code floor(size * testFraction)} of them.
 */
public final class DirichletPartitioner {
    /** Redraws of the class proportions before falling back to moving samples. */
    public static final int MAX_REDRAWS = 100;
    public static final int DEFAULT_MIN_TRAIN_PER_SILO = 8;

    private final int numSilos;
    private final double alpha;
    private final double testFraction;
    private final long seed;
    private final int minTrainPerSilo;

    /** Which samples of the source dataset a silo got: indices into it, in the order they appear in the silo. */
    public record Assignment(int[] train, int[] test) {
        public Assignment {
            train = train.clone();
            test = test.clone();
        }

        @Override
        public int[] train() {
            return train.clone();
        }

        @Override
        public int[] test() {
            return test.clone();
        }

        public int size() {
            return train.length + test.length;
        }
    }

    /**
     * @param numSilos number of silos, at least 1
     * @param alpha Dirichlet concentration, positive
     * @param testFraction share of each silo held out for testing, in {@code [0, 1)}
     * @param seed seed of the split
     */
    public DirichletPartitioner(int numSilos, double alpha, double testFraction, long seed) {
        this(numSilos, alpha, testFraction, seed, DEFAULT_MIN_TRAIN_PER_SILO);
    }

    public DirichletPartitioner(int numSilos, double alpha, double testFraction, long seed, int minTrainPerSilo) {
        if (numSilos < 1) {
            throw new IllegalArgumentException("numSilos must be at least 1, got " + numSilos);
        }
        if (!(alpha > 0) || Double.isInfinite(alpha)) {
            throw new IllegalArgumentException("alpha must be positive and finite, got " + alpha);
        }
        if (!(testFraction >= 0 && testFraction < 1)) {
            throw new IllegalArgumentException("testFraction must be in [0, 1), got " + testFraction);
        }
        if (minTrainPerSilo < 1) {
            throw new IllegalArgumentException("minTrainPerSilo must be at least 1, got " + minTrainPerSilo);
        }
        this.numSilos = numSilos;
        this.alpha = alpha;
        this.testFraction = testFraction;
        this.seed = seed;
        this.minTrainPerSilo = minTrainPerSilo;
    }

    public int numSilos() {
        return numSilos;
    }

    public double alpha() {
        return alpha;
    }

    public double testFraction() {
        return testFraction;
    }

    public long seed() {
        return seed;
    }

    public int minTrainPerSilo() {
        return minTrainPerSilo;
    }

    /** Smallest silo (train + test) that still yields {@code minTrainPerSilo} training samples. */
    public int minSiloSize() {
        int m = (int) Math.ceil(minTrainPerSilo / (1 - testFraction) - 1e-9);
        while (m - testCount(m) < minTrainPerSilo) {
            m++;
        }
        return m;
    }

    /** The silos' data. */
    public List<SiloData> partition(Dataset data) {
        List<SiloData> out = new ArrayList<>(numSilos);
        for (Assignment a : assign(data)) {
            out.add(new SiloData(data.subset(a.train), data.subset(a.test)));
        }
        return out;
    }

    /** Which samples go where, as indices into {@code data}. */
    public List<Assignment> assign(Dataset data) {
        int minSize = minSiloSize();
        if ((long) minSize * numSilos > data.size()) {
            throw new IllegalArgumentException(data.size() + " samples cannot give " + numSilos + " silos of at least "
                    + minSize + " samples (" + minTrainPerSilo + " for training)");
        }
        Random rng = new Random(seed);
        int[][] byClass = indicesByClass(data);
        for (int[] idx : byClass) {
            shuffle(idx, rng);
        }

        IntBuffer[] silos = null;
        for (int draw = 0; draw < MAX_REDRAWS; draw++) {
            silos = deal(byClass, rng);
            if (smallest(silos) >= minSize) {
                break;
            }
        }
        topUp(silos, minSize, rng);

        // A separate stream for the split, so changing testFraction does not change who gets which samples.
        Random splitRng = new Random(seed ^ 0x5DEECE66DL);
        List<Assignment> out = new ArrayList<>(numSilos);
        for (IntBuffer silo : silos) {
            int[] idx = silo.toArray();
            // Sorting first makes the split depend only on the set of samples, not on dealing order.
            Arrays.sort(idx);
            shuffle(idx, splitRng);
            int nTest = testCount(idx.length);
            int[] test = Arrays.copyOfRange(idx, 0, nTest);
            int[] train = Arrays.copyOfRange(idx, nTest, idx.length);
            out.add(new Assignment(train, test));
        }
        return out;
    }

    private int testCount(int siloSize) {
        return (int) Math.floor(siloSize * testFraction);
    }

    private IntBuffer[] deal(int[][] byClass, Random rng) {
        IntBuffer[] silos = new IntBuffer[numSilos];
        for (int s = 0; s < numSilos; s++) {
            silos[s] = new IntBuffer();
        }
        for (int[] idx : byClass) {
            double[] p = sampleDirichlet(numSilos, alpha, rng);
            int start = 0;
            double cum = 0;
            for (int s = 0; s < numSilos; s++) {
                cum += p[s];
                // Cutting at rounded cumulative shares (the last one exactly at the end) hands out every sample
                // once, whatever the floating-point error in the proportions.
                int end = s == numSilos - 1 ? idx.length : (int) Math.min(idx.length, Math.round(cum * idx.length));
                end = Math.max(end, start);
                for (int i = start; i < end; i++) {
                    silos[s].add(idx[i]);
                }
                start = end;
            }
        }
        return silos;
    }

    private static void topUp(IntBuffer[] silos, int minSize, Random rng) {
        for (int s = 0; s < silos.length; s++) {
            while (silos[s].size() < minSize) {
                int donor = 0;
                for (int d = 1; d < silos.length; d++) {
                    if (silos[d].size() > silos[donor].size()) {
                        donor = d;
                    }
                }
                silos[s].add(silos[donor].removeAt(rng.nextInt(silos[donor].size())));
            }
        }
    }

    private static int smallest(IntBuffer[] silos) {
        int min = Integer.MAX_VALUE;
        for (IntBuffer b : silos) {
            min = Math.min(min, b.size());
        }
        return min;
    }

    private static int[][] indicesByClass(Dataset data) {
        int[] counts = data.classCounts();
        int[][] out = new int[counts.length][];
        for (int c = 0; c < counts.length; c++) {
            out[c] = new int[counts[c]];
        }
        int[] fill = new int[counts.length];
        for (int i = 0; i < data.size(); i++) {
            int c = data.label(i);
            out[c][fill[c]++] = i;
        }
        return out;
    }

    static void shuffle(int[] a, Random rng) {
        for (int i = a.length - 1; i > 0; i--) {
            int j = rng.nextInt(i + 1);
            int t = a[i];
            a[i] = a[j];
            a[j] = t;
        }
    }

    /**
     * A draw from the symmetric Dirichlet(alpha) over {@code k} categories: independent Gamma(alpha, 1) draws,
     * normalised. The gammas are handled as logarithms because for small alpha they underflow to 0 as doubles.
     */
    static double[] sampleDirichlet(int k, double alpha, Random rng) {
        double[] logG = new double[k];
        double max = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < k; i++) {
            logG[i] = sampleLogGamma(alpha, rng);
            max = Math.max(max, logG[i]);
        }
        double sum = 0;
        double[] p = new double[k];
        for (int i = 0; i < k; i++) {
            p[i] = Math.exp(logG[i] - max);
            sum += p[i];
        }
        for (int i = 0; i < k; i++) {
            p[i] /= sum;
        }
        return p;
    }

    /**
     * log of a Gamma(shape, 1) draw. Marsaglia and Tsang (2000), "A simple method for generating gamma
     * variables", for shape >= 1; for shape < 1 their boost: Gamma(a) = Gamma(a + 1) * U^(1/a).
     */
    static double sampleLogGamma(double shape, Random rng) {
        if (shape < 1) {
            double u = 1.0 - rng.nextDouble(); // in (0, 1], so the log is finite
            return sampleLogGamma(shape + 1, rng) + Math.log(u) / shape;
        }
        double d = shape - 1.0 / 3.0;
        double c = 1.0 / Math.sqrt(9.0 * d);
        while (true) {
            double x = rng.nextGaussian();
            double v = 1.0 + c * x;
            if (v <= 0) {
                continue;
            }
            v = v * v * v;
            double u = rng.nextDouble();
            double x2 = x * x;
            if (u < 1.0 - 0.0331 * x2 * x2 || Math.log(u) < 0.5 * x2 + d * (1.0 - v + Math.log(v))) {
                return Math.log(d) + Math.log(v);
            }
        }
    }

    /**
     * Label skew of a partition: the mean over silos of the total-variation distance between the silo's label
     * distribution (train and test together) and the label distribution of all silos pooled. 0 means every
     * silo has the pooled class mix (IID); it approaches 1 when silos hold disjoint classes.
     */
    public static double labelSkew(List<SiloData> silos) {
        if (silos.isEmpty()) {
            return 0;
        }
        int k = silos.get(0).numClasses();
        double[] pooled = new double[k];
        double total = 0;
        List<int[]> counts = new ArrayList<>();
        for (SiloData s : silos) {
            int[] c = s.train().classCounts();
            int[] t = s.test().classCounts();
            for (int j = 0; j < k; j++) {
                c[j] += t[j];
                pooled[j] += c[j];
                total += c[j];
            }
            counts.add(c);
        }
        double skew = 0;
        for (int[] c : counts) {
            double n = Arrays.stream(c).sum();
            double tv = 0;
            for (int j = 0; j < k; j++) {
                tv += Math.abs((n == 0 ? 0 : c[j] / n) - pooled[j] / total);
            }
            skew += tv / 2;
        }
        return skew / silos.size();
    }

    @Override
    public String toString() {
        return "DirichletPartitioner[silos=" + numSilos + ", alpha=" + alpha + ", testFraction=" + testFraction
                + ", seed=" + seed + ", minTrainPerSilo=" + minTrainPerSilo + "]";
    }

    /** A growable int list with O(1) removal by swapping in the last element. */
    private static final class IntBuffer {
        private int[] a = new int[64];
        private int n;

        void add(int v) {
            if (n == a.length) {
                a = Arrays.copyOf(a, a.length * 2);
            }
            a[n++] = v;
        }

        int removeAt(int i) {
            int v = a[i];
            a[i] = a[--n];
            return v;
        }

        int size() {
            return n;
        }

        int[] toArray() {
            return Arrays.copyOf(a, n);
        }
    }
}
