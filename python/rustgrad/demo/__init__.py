"""rustgrad's demos: ``python -m rustgrad.demo`` trains an MLP and a small
CNN on scikit-learn's bundled handwritten digits (``digits``);
``python -m rustgrad.demo seeds`` tours the five examples of the autograd
article rustgrad grew from."""
