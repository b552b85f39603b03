"""Where items come from: each source yields RawItems with the cursor they advance; none writes the store."""
