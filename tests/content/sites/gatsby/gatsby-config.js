module.exports = {
  siteMetadata: {
    title: `Egg Notes`,
    siteUrl: `https://eggs.example.org/`,
  },
  plugins: [
    { resolve: `gatsby-source-filesystem`, options: { path: `${__dirname}/content/blog`, name: `blog` } },
    `gatsby-transformer-remark`,
  ],
}
