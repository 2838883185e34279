#include "chain_writer.hpp"

#include "messages/block.hpp"
#include "messages/primitives/hex.hpp"
#include "runtime/chain/block_check.hpp"
#include "runtime/chain/block_maker.hpp"
#include "runtime/chain/genesis.hpp"
#include "runtime/chain/header_tree.hpp"
#include "runtime/store/chain_store.hpp"

#include <ostream>
#include <random>

namespace qtc {

namespace {

/// Opens an empty store at `dir`/chain holding genesis; sets `error` otherwise.
std::unique_ptr<chain_store> open_empty(const std::filesystem::path& dir, const chain_spec& spec,
                                        const block& genesis, std::string& error) {
  auto store = chain_store::open(dir / "chain",
                                 chain_identity{spec.network, block_hash(genesis.header)}, error);
  if (!store)
    return nullptr;
  if (store->header_count() > 1 || store->block_count() > 1) {
    error = store->path().string() + " already holds a chain; use an empty data directory";
    return nullptr;
  }
  if (!store->best_block()) {
    auto err = store->put_headers(std::vector{stored_header{genesis.header, 0}});
    if (!err)
      err = store->put_block(block_hash(genesis.header), serialize(genesis), true);
    if (err) {
      error = *err;
      return nullptr;
    }
  }
  return store;
}

/// Headers and blocks written in batches, one durable transaction each: a generator gains
/// nothing from a disk sync per block, and on a slow disk those syncs are nearly all its time.
class batch_writer {
public:
  explicit batch_writer(chain_store& store) : store_(store) {}

  std::optional<std::string> add(const block_header& h, std::uint32_t height, hash256 hash,
                                 bytes raw) {
    headers_.push_back(stored_header{h, height});
    bytes_ += raw.size();
    blocks_.push_back(stored_block{hash, std::move(raw)});
    if (blocks_.size() >= 1000 || bytes_ >= (std::size_t{64} << 20))
      return flush();
    return std::nullopt;
  }

  std::optional<std::string> flush() {
    if (blocks_.empty())
      return std::nullopt;
    auto err = store_.put_headers(headers_);
    if (!err)
      err = store_.put_blocks(blocks_, true);
    headers_.clear();
    blocks_.clear();
    bytes_ = 0;
    return err;
  }

private:
  chain_store& store_;
  std::vector<stored_header> headers_;
  std::vector<stored_block> blocks_;
  std::size_t bytes_ = 0;
};

} // namespace

chain_outcome write_chain(const chain_spec& spec, const chain_request& request) {
  chain_outcome out;
  auto params = chain_params::from(spec);
  auto genesis = make_genesis_block(spec);
  header_tree tree{params, genesis.header};
  std::unique_ptr<chain_store> store;
  std::optional<batch_writer> writer;
  if (request.data_dir) {
    store = open_empty(*request.data_dir, spec, genesis, out.error);
    if (!store)
      return out;
    writer.emplace(*store);
  }
  std::mt19937_64 rng{request.seed};
  auto limit = params.pow_limit.to_big_endian();
  const header_node* tip = &tree.genesis();
  for (std::uint64_t i = 0; i < request.blocks; ++i) {
    auto b = make_next_block(tip->header, tip->hash, tip->height, request.txs, rng, limit);
    auto raw = serialize(b);
    auto accepted = tree.accept(b.header, b.header.time);
    auto checked = check_block(b, raw.size(), spec.max_message_size);
    if (accepted.rejection != header_rejection::none || checked != block_rejection::none) {
      out.error = "internal error: block " + std::to_string(i + 1) + " is invalid ("
                  + to_string(accepted.rejection) + ", " + to_string(checked) + ")";
      return out;
    }
    tip = accepted.node;
    if (request.hex_out != nullptr)
      *request.hex_out << to_hex(raw) << "\n";
    if (writer)
      if (auto err = writer->add(b.header, tip->height, tip->hash, std::move(raw))) {
        out.error = *err;
        return out;
      }
  }
  if (writer)
    if (auto err = writer->flush())
      out.error = *err;
  out.tip = tip->hash;
  out.height = tip->height;
  return out;
}

} // namespace qtc
