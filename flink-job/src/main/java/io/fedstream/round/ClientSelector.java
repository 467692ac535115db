package io.fedstream.round;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Seeded sampling of the clients of a round. The candidates are sorted first, so the selection depends only on
 * the seed, the round and the set of live clients, never on arrival order: a federation can be reproduced.
 */
public final class ClientSelector {
    private ClientSelector() {}

    public static List<String> select(Collection<String> candidates, int count, long seed, int round) {
        List<String> pool = new ArrayList<>(candidates);
        pool.sort(null);
        SplittableRandom random = new SplittableRandom(seed * 0x9E3779B97F4A7C15L + round);
        int k = Math.min(count, pool.size());
        // Partial Fisher-Yates: the first k positions become a uniform sample without replacement.
        for (int i = 0; i < k; i++) {
            int j = i + random.nextInt(pool.size() - i);
            String t = pool.get(i);
            pool.set(i, pool.get(j));
            pool.set(j, t);
        }
        List<String> chosen = new ArrayList<>(pool.subList(0, k));
        chosen.sort(null);
        return chosen;
    }
}
