# agedrop signing key, created: [..]
# public key: agedropsig1[..]
AGEDROP-SIGNING-KEY-1[..]
