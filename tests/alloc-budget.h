/* alloc-budget.h: an allocator for out-of-memory tests. It lets a given number of allocations succeed,
 * fails every one after that, and counts the blocks still live, so a test can run an operation under
 * budgets 0, 1, 2 ... and check that each failure is reported as TX_ENOMEM without a leak. Header-only
 * test helper, not part of the library; not thread-safe (neither is tx_set_allocator). */
#ifndef TX_TEST_ALLOC_BUDGET_H
#define TX_TEST_ALLOC_BUDGET_H

#include "memory.h"

#include <stdlib.h>

static long tx_test_alloc_budget, tx_test_alloc_live;

static inline void *tx_test_budget_realloc(void *ud, void *ptr, size_t size)
{
    (void)ud;
    if (tx_test_alloc_budget-- <= 0)
        return NULL;
    void *p = realloc(ptr, size);
    if (p && !ptr)
        tx_test_alloc_live++;
    return p;
}

static inline void tx_test_budget_free(void *ud, void *ptr)
{
    (void)ud;
    if (ptr)
        tx_test_alloc_live--;
    free(ptr);
}

/* Installs the budget allocator: the next `budget` allocations (and reallocations) succeed. */
static inline void tx_test_alloc_begin(long budget)
{
    static const tx_allocator a = {tx_test_budget_realloc, tx_test_budget_free, NULL};
    tx_test_alloc_budget = budget;
    tx_test_alloc_live = 0;
    tx_set_allocator(&a);
}

/* Restores the C library's allocator; returns the blocks allocated since tx_test_alloc_begin() and
 * not freed (0 when nothing leaked). */
static inline long tx_test_alloc_end(void)
{
    tx_set_allocator(NULL);
    return tx_test_alloc_live;
}

#endif
