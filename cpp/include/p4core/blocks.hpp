// p4core kernel: umbrella header of the column-blocked kernels (kept so that existing includes work).
//
// Owns nothing itself; the parts live in
//   simd.hpp            the row type Row<T, NB>, kBlock / kChunk, lanes_vector and the width / clone / inline macros
//   reach.hpp           out-edges of the operator and the rows a block's seeds reach within K hops
//   block_propagate.hpp blocked, reach-aware propagation (block_steps, run_blocks, propagate_blocked)
//   gram.hpp            weighted Gram tiles between column blocks
//   screen_terms.hpp    the screen's inner products (block_products, screen_terms)
#pragma once

#include "p4core/block_propagate.hpp"
#include "p4core/gram.hpp"
#include "p4core/reach.hpp"
#include "p4core/screen_terms.hpp"
#include "p4core/simd.hpp"
