package io.fedstream.round;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

class ClientSelectorTest {
    private static List<String> clients(int n) {
        List<String> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            out.add(String.format("client-%02d", i));
        }
        return out;
    }

    @Test
    void sameInputsGiveSameSelectionWhateverTheCandidateOrder() {
        List<String> all = clients(25);
        Random r = new Random(1);
        for (int round = 0; round < 50; round++) {
            List<String> expected = ClientSelector.select(all, 7, 42, round);
            for (int i = 0; i < 5; i++) {
                List<String> shuffled = new ArrayList<>(all);
                Collections.shuffle(shuffled, r);
                assertEquals(expected, ClientSelector.select(shuffled, 7, 42, round), "round " + round);
                assertEquals(expected, ClientSelector.select(new LinkedHashSet<>(shuffled), 7, 42, round));
            }
            assertEquals(expected, ClientSelector.select(new HashSet<>(all), 7, 42, round));
            assertEquals(expected, ClientSelector.select(new TreeSet<>(all), 7, 42, round));
        }
    }

    @Test
    void selectionDoesNotChangeTheCandidates() {
        List<String> all = clients(10);
        List<String> copy = new ArrayList<>(all);
        ClientSelector.select(all, 4, 5, 3);
        assertEquals(copy, all);
    }

    @Test
    void differentRoundsAndSeedsGiveDifferentSelections() {
        List<String> all = clients(20);
        Set<List<String>> distinctRounds = new HashSet<>();
        for (int round = 0; round < 100; round++) {
            distinctRounds.add(ClientSelector.select(all, 5, 42, round));
        }
        // C(20,5) = 15504 possible selections: 100 rounds should almost never repeat one.
        assertTrue(distinctRounds.size() >= 95, "only " + distinctRounds.size() + " distinct selections in 100 rounds");

        Set<List<String>> distinctSeeds = new HashSet<>();
        for (long seed = 0; seed < 100; seed++) {
            distinctSeeds.add(ClientSelector.select(all, 5, seed, 0));
        }
        assertTrue(distinctSeeds.size() >= 95, "only " + distinctSeeds.size() + " distinct selections over 100 seeds");

        // Consecutive rounds in particular must not share a selection pattern.
        int equalNeighbours = 0;
        for (int round = 0; round < 200; round++) {
            if (ClientSelector.select(all, 5, 7, round).equals(ClientSelector.select(all, 5, 7, round + 1))) {
                equalNeighbours++;
            }
        }
        assertTrue(equalNeighbours <= 2, equalNeighbours + " consecutive rounds selected the same clients");
        assertNotEquals(ClientSelector.select(all, 5, 1, 0), ClientSelector.select(all, 5, 2, 0));
    }

    @Test
    void countAtOrAboveCandidatesReturnsAllSorted() {
        List<String> all = clients(6);
        List<String> reversed = new ArrayList<>(all);
        Collections.reverse(reversed);
        assertEquals(all, ClientSelector.select(reversed, 6, 42, 0));
        assertEquals(all, ClientSelector.select(reversed, 7, 42, 3));
        assertEquals(all, ClientSelector.select(reversed, Integer.MAX_VALUE, 1, 9));
        assertEquals(List.of(), ClientSelector.select(List.of(), 3, 42, 0));
    }

    @Test
    void selectionsAreSortedDistinctSubsetsOfTheRightSize() {
        List<String> all = clients(17);
        Set<String> pool = new HashSet<>(all);
        for (int round = 0; round < 300; round++) {
            int count = 1 + round % 17;
            List<String> s = ClientSelector.select(all, count, 11, round);
            assertEquals(count, s.size());
            assertEquals(count, new HashSet<>(s).size(), "duplicate in " + s);
            assertTrue(pool.containsAll(s), s.toString());
            List<String> sorted = new ArrayList<>(s);
            Collections.sort(sorted);
            assertEquals(sorted, s);
        }
    }

    @Test
    void roughlyUniformOverRounds() {
        int n = 10;
        int k = 3;
        int rounds = 20_000;
        List<String> all = clients(n);
        Map<String, Integer> picks = new HashMap<>();
        Map<String, Integer> pairs = new HashMap<>();
        for (int round = 0; round < rounds; round++) {
            List<String> s = ClientSelector.select(all, k, 42, round);
            for (String c : s) {
                picks.merge(c, 1, Integer::sum);
            }
            for (int i = 0; i < s.size(); i++) {
                for (int j = i + 1; j < s.size(); j++) {
                    pairs.merge(s.get(i) + "+" + s.get(j), 1, Integer::sum);
                }
            }
        }
        double expectedShare = (double) k / n; // 0.3, standard deviation ~0.0032
        for (String c : all) {
            double share = picks.getOrDefault(c, 0) / (double) rounds;
            assertEquals(expectedShare, share, 0.02, c + " selected in " + share + " of the rounds");
        }
        // Every pair of clients appears together about k(k-1)/(n(n-1)) = 1/15 of the time.
        assertEquals(n * (n - 1) / 2, pairs.size(), "some pairs never selected together");
        double expectedPair = (double) k * (k - 1) / (n * (n - 1));
        for (Map.Entry<String, Integer> e : pairs.entrySet()) {
            assertEquals(expectedPair, e.getValue() / (double) rounds, 0.015, "pair " + e.getKey());
        }
    }

    @Test
    void roughlyUniformOverSeeds() {
        int n = 8;
        List<String> all = clients(n);
        Map<String, Integer> picks = new HashMap<>();
        int seeds = 16_000;
        for (long seed = 0; seed < seeds; seed++) {
            for (String c : ClientSelector.select(all, 2, seed, 0)) {
                picks.merge(c, 1, Integer::sum);
            }
        }
        for (String c : all) {
            assertEquals(0.25, picks.getOrDefault(c, 0) / (double) seeds, 0.02, c);
        }
    }
}
